/*
 * test_audit.c - the audit rules engine: for every rule a minimal trace that
 * triggers it and a near miss that must not; lost records making findings
 * uncertain; caps; a long clean stream in bounded state; the same results
 * through a trace file (dmt_audit_file); and, when the dmatrace binary is
 * built, the audit command (exit status, --json parsed by python3) and the
 * "proven both ways" checks over `dmatrace capture --inject` (every fault
 * found, every clean scenario at several seeds with zero findings).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmt/testkit.h"
#include "dmt/tktrace.h"
#include "dmt/audit.h"
#include "dmt/writer.h"

/* ---- running the engine --------------------------------------------------------- */

#define F_MAX 256
static dmt_finding F[F_MAX];
static uint32_t FN;

static void sink(void *user, const dmt_finding *f)
{
    (void)user;
    if (FN < F_MAX)
        F[FN++] = *f;
}

static dmt_audit_stats run_cfg(const dmt_audit_config *base)
{
    dmt_audit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    if (base)
        cfg = *base;
    cfg.sink = sink;
    FN = 0;
    dmt_audit *a = dmt_audit_new(&cfg);
    CHECK(a != NULL);
    dmt_audit_stats st;
    memset(&st, 0, sizeof st);
    if (!a)
        return st;
    for (uint32_t i = 0; i < tk_nrec; i++)
        CHECK(dmt_audit_add(a, &tk_rec[i], i) == 0);
    CHECK(dmt_audit_finish(a, false) == 0);
    st = *dmt_audit_get_stats(a);
    dmt_audit_free(a);
    return st;
}

static void run(bool unload)
{
    dmt_audit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.end_is_unload = unload;
    run_cfg(&cfg);
}

static uint32_t count_rule(int rule)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < FN; i++)
        if ((int)F[i].rule == rule)
            n++;
    return n;
}

static const dmt_finding *first_of(int rule)
{
    for (uint32_t i = 0; i < FN; i++)
        if ((int)F[i].rule == rule)
            return &F[i];
    return NULL;
}

static void dump_findings(const char *what)
{
    for (uint32_t i = 0; i < FN; i++)
        fprintf(stderr, "  [%s] %s%s: %s\n", what, dmt_audit_rules()[F[i].rule].id,
                F[i].uncertain ? " (uncertain)" : "", F[i].message);
}

/* Exactly the findings of `rule` (n of them, certain), nothing else. */
#define EXPECT_ONLY(rule, n, what)                                                                 \
    do {                                                                                           \
        uint32_t c_ = count_rule(rule);                                                            \
        CHECKF(c_ == (n) && FN == (n), "%s: %u %s findings of %u total, expected %u", what, c_,    \
               dmt_audit_rules()[rule].id, FN, (unsigned)(n));                                     \
        if (c_ != (n) || FN != (n))                                                                \
            dump_findings(what);                                                                   \
        for (uint32_t i_ = 0; i_ < FN; i_++)                                                       \
            CHECKF(!F[i_].uncertain, "%s: finding unexpectedly uncertain", what);                  \
    } while (0)

#define EXPECT_CLEAN(what) EXPECT_ONLY(DMT_R_SG_TOTAL_MISMATCH, 0, what)

/* A rule's case and its near miss: the near miss must audit clean, the
 * case give exactly one finding of rule. */
static void expect_case(bool near, int rule, const char *hit, const char *miss)
{
    if (near)
        EXPECT_CLEAN(miss);
    else
        EXPECT_ONLY(rule, 1, hit);
}

/* ---- the baseline ---------------------------------------------------------------------- */

static const dmt_sg_elem SG2[] = {{0x100000, 0x1000}, {0x200000, 0x2000}};

/* Transfer 1 of len bytes (to the device) from an MDL of mdl_len bytes:
 * started, mapped as sg (n elements), the n_desc elements of desc programmed
 * on channel 0, ended: all but its interrupt and completion. */
static void t_programmed_as(uint64_t mdl_len, uint64_t len, uint32_t n, const dmt_sg_elem *sg,
                            uint32_t n_desc, const dmt_sg_elem *desc)
{
    tk_begin(mdl_len, DMT_LOCK_READ);
    tk_start(1, 1, 1, 0, len, true);
    tk_exec(1, 1, len, n, sg);
    tk_desc(1, 0, n_desc, desc, -1);
    tk_ring(1, 0, TK_RING0, n_desc);
    tk_start_end(1, 1, 0, len);
}

/* The same of SG2, as mapped. */
static void t_programmed(void)
{
    t_programmed_as(0x3000, 0x3000, 2, SG2, 2, SG2);
}

static void test_clean_session(void)
{
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    tk_lock(1, 0x7f0000001000, 0x3000, DMT_LOCK_READ);
    tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
    tk_unlock(1);
    tk_lock(2, 0x7f0000010000, 0x3000, DMT_LOCK_WRITE);
    tk_chunk(2, 2, 2, 2, TK_RING1, 1, 1, 0, 2, SG2, false);
    tk_unlock(2);
    tk_teardown();
    dmt_audit_stats st = run_cfg(NULL);
    EXPECT_CLEAN("clean session");
    CHECK(st.transfers == 2 && st.executed == 2);
    CHECK(st.doorbells == 2 && st.programs_checked == 2 && st.programs_unverified == 0);
    /* and with the unload option: nothing held */
    run(true);
    EXPECT_CLEAN("clean session, end is unload");
}

/* ---- SG list rules ----------------------------------------------------------------------- */

static void one_transfer(uint32_t n, const dmt_sg_elem *sg, uint64_t granted, uint64_t limit,
                         uint32_t bits, bool program)
{
    tk_reset();
    tk_setup(bits, true, 1 << 30, 1u << 18, limit);
    tk_lock(1, 0x7f0000000000, granted ? granted : 1, DMT_LOCK_READ);
    tk_start(1, 1, 1, 0, granted, true);
    tk_exec(1, 1, granted, n, sg);
    if (program) {
        tk_desc(1, 0, n, sg, -1);
        tk_ring(1, 0, TK_RING0, n);
    }
    tk_start_end(1, 1, 0, granted);
    tk_irq(1, 0, 1);
    tk_complete(1, 1, true);
    tk_end_trace();
    run(false);
}

/* One SG-rule transfer: rule is the one finding expected, or -1 for a clean near miss. */
struct sg_case {
    uint32_t n;
    const dmt_sg_elem *sg;
    uint64_t granted, limit;
    uint32_t bits;
    int rule;
    const char *what;
};

static void test_sg_rules(void)
{
    /* sg-zero-length (the total still matches) */
    static const dmt_sg_elem z[] = {{0x100000, 0x1000}, {0x300000, 0}, {0x200000, 0x2000}};
    static const dmt_sg_elem z1[] = {{0x100000, 0x1000}, {0x300000, 1}, {0x200000, 0x2000}};
    /* sg-cross-4g: ends one byte past 4 GiB; the near miss ends exactly at it */
    static const dmt_sg_elem c4[] = {{0xFFFFF000ull, 0x1001}};
    static const dmt_sg_elem c4n[] = {{0xFFFFF000ull, 0x1000}, {0x100000000ull, 1}};
    /* addr-beyond-limit */
    static const dmt_sg_elem hi[] = {{0x100000000ull, 0x1000}};
    static const dmt_sg_elem lo[] = {{0xFFFFF000ull, 0x1000}};
    /* sg-overlap */
    static const dmt_sg_elem ov[] = {{0x100000, 0x1000}, {0x200000, 0x1000}, {0x100FFF, 0x10}};
    static const dmt_sg_elem ovn[] = {{0x100000, 0x1000}, {0x200000, 0x1000}, {0x101000, 0x10}};
    static const struct sg_case cases[] = {
        {2, SG2, 0x3001, UINT64_MAX, 64, DMT_R_SG_TOTAL_MISMATCH, "sg-total-mismatch"},
        {2, SG2, 0x3000, UINT64_MAX, 64, -1, "sg-total-mismatch near miss"},
        {3, z, 0x3000, UINT64_MAX, 64, DMT_R_SG_ZERO_LENGTH, "sg-zero-length"},
        {3, z1, 0x3001, UINT64_MAX, 64, -1, "sg-zero-length near miss (1 byte)"},
        {1, c4, 0x1001, UINT64_MAX, 64, DMT_R_SG_CROSS_4G, "sg-cross-4g"},
        {2, c4n, 0x1001, UINT64_MAX, 64, -1, "sg-cross-4g near miss"},
        /* the adapter's limit */
        {1, hi, 0x1000, 0xFFFFFFFFull, 64, DMT_R_ADDR_BEYOND_LIMIT, "addr-beyond-limit (adapter)"},
        {1, lo, 0x1000, 0xFFFFFFFFull, 64, -1, "addr-beyond-limit near miss (adapter)"},
        /* ... and the device's: a 64-bit adapter on a 32-bit engine (CAPS) */
        {1, hi, 0x1000, UINT64_MAX, 32, DMT_R_ADDR_BEYOND_LIMIT, "addr-beyond-limit (device)"},
        {1, hi, 0x1000, UINT64_MAX, 36, -1, "addr-beyond-limit near miss (36-bit device)"},
        {3, ov, 0x2010, UINT64_MAX, 64, DMT_R_SG_OVERLAP, "sg-overlap"},
        {3, ovn, 0x2010, UINT64_MAX, 64, -1, "sg-overlap near miss (adjacent)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const struct sg_case *c = &cases[i];
        one_transfer(c->n, c->sg, c->granted, c->limit, c->bits, false);
        expect_case(c->rule < 0, c->rule, c->what, c->what);
        if (c->bits == 32)
            CHECK(first_of(DMT_R_ADDR_BEYOND_LIMIT) &&
                  strstr(first_of(DMT_R_ADDR_BEYOND_LIMIT)->message, "device's") != NULL);
    }
}

static void test_size_rules(void)
{
    /* transfer-exceeds-max on the grant */
    /* MaximumLength 0x1000: 2 map registers' worth, 0x2000 from offset 0 */
    tk_reset();
    tk_setup(64, true, 0x1000, 64, UINT64_MAX);
    tk_lock(1, 0x7f0000000000, 0x3000, DMT_LOCK_READ);
    tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
    tk_end_trace();
    run(false);
    EXPECT_ONLY(DMT_R_TRANSFER_EXCEEDS_MAX, 1, "transfer-exceeds-max");
    /* near miss: MaximumLength 0x2000 allows 0x3000 from a page boundary
     * (the host VideoPort and ReactOS grant that much) */
    tk_reset();
    tk_setup(64, true, 0x2000, 64, UINT64_MAX);
    tk_lock(1, 0x7f0000000000, 0x3000, DMT_LOCK_READ);
    tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
    tk_end_trace();
    run(false);
    EXPECT_CLEAN("transfer-exceeds-max near miss");

    /* transfer-exceeds-map-registers: 0x3000 bytes from page offset 0x800
     * span 4 pages; 3 map registers granted */
    static const dmt_sg_elem un[] = {{0x100800, 0x800}, {0x200000, 0x2000}, {0x300000, 0x800}};
    for (int near = 0; near < 2; near++) {
        tk_reset();
        tk_setup(64, true, 1 << 20, near ? 4 : 3, UINT64_MAX);
        tk_lock(1, 0x7f0000000800, 0x3000, DMT_LOCK_READ);
        tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0, 3, un, true);
        tk_end_trace();
        run(false);
        expect_case(near, DMT_R_TRANSFER_EXCEEDS_MAP_REGISTERS, "transfer-exceeds-map-registers",
                    "transfer-exceeds-map-registers near miss");
    }

    /* startdma-beyond-mdl */
    for (int near = 0; near < 2; near++) {
        tk_begin(near ? 0x4000 : 0x3fff, DMT_LOCK_READ);
        tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0x1000, 2, SG2, true);
        tk_end_trace();
        run(false);
        expect_case(near, DMT_R_STARTDMA_BEYOND_MDL, "startdma-beyond-mdl",
                    "startdma-beyond-mdl near miss");
    }
}

/* ---- in-flight overlap, concurrency --------------------------------------------------------- */

static void two_in_flight(bool wtd1, bool wtd2, const dmt_sg_elem *sg2, bool sg_adapter,
                          bool same_adapter)
{
    static const dmt_sg_elem a1[] = {{0x100000, 0x2000}};
    uint32_t ad2 = same_adapter ? 1 : 2;
    uint32_t ch2 = same_adapter ? 0 : 1;
    uint64_t ring2 = same_adapter ? TK_RING0 + 0x100 : TK_RING1;
    uint32_t cb2 = same_adapter ? 1 : 2;
    tk_reset();
    tk_setup(64, sg_adapter, 1 << 20, 257, UINT64_MAX);
    tk_lock(1, 0x7f0000000000, 0x2000, wtd1 ? DMT_LOCK_READ : DMT_LOCK_WRITE);
    tk_lock(2, 0x7f0000100000, 0x1000, wtd2 ? DMT_LOCK_READ : DMT_LOCK_WRITE);
    tk_start(1, 1, 1, 0, 0x2000, wtd1);
    tk_exec(1, 1, 0x2000, 1, a1);
    tk_desc(1, 0, 1, a1, -1);
    tk_ring(1, 0, TK_RING0, 1);
    tk_start_end(1, 1, 0, 0x2000);
    tk_start(2, ad2, 2, 0, 0x1000, wtd2);
    tk_exec(2, ad2, 0x1000, 1, sg2);
    if (!same_adapter) { /* one channel runs one list: the second is not started */
        tk_desc(cb2, ring2 - TK_RING1, 1, sg2, -1);
        tk_ring(1, ch2, ring2, 1);
    }
    tk_start_end(2, ad2, 0, 0x1000);
    tk_irq(1, 0, 1);
    tk_complete(1, 1, wtd1);
    if (!same_adapter)
        tk_irq(1, ch2, 2);
    tk_complete(2, ad2, wtd2);
    tk_unlock(1);
    tk_unlock(2);
    tk_teardown();
    run(false);
}

static void test_inflight(void)
{
    static const dmt_sg_elem over[] = {{0x101000, 0x1000}};  /* inside transfer 1 */
    static const dmt_sg_elem apart[] = {{0x102000, 0x1000}}; /* adjacent, no overlap */
    two_in_flight(true, false, over, true, false);           /* one writes memory */
    EXPECT_ONLY(DMT_R_INFLIGHT_OVERLAP, 1, "inflight-overlap");
    two_in_flight(true, true, over, true, false); /* both only read memory */
    EXPECT_CLEAN("inflight-overlap near miss (both to device)");
    two_in_flight(false, false, apart, true, false);
    EXPECT_CLEAN("inflight-overlap near miss (adjacent)");
    /* an element inside a long element that starts before a shorter one */
    {
        static const dmt_sg_elem l1[] = {{0x50000, 0x100000}, {0x60000, 0x10}};
        static const dmt_sg_elem l2[] = {{0x140000, 0x10}};
        tk_reset();
        tk_setup(64, true, 1 << 20, 1024, UINT64_MAX);
        tk_lock(1, 0x7f0000000000, 0x100010, DMT_LOCK_WRITE);
        tk_lock(2, 0x7f0000200000, 0x10, DMT_LOCK_READ);
        tk_start(1, 1, 1, 0, 0x100010, false);
        tk_exec(1, 1, 0x100010, 2, l1);
        tk_start(2, 2, 2, 0, 0x10, true);
        tk_exec(2, 2, 0x10, 1, l2);
        tk_complete(1, 1, false);
        tk_complete(2, 2, true);
        tk_unlock(1);
        tk_unlock(2);
        tk_teardown();
        run(false);
        CHECK(count_rule(DMT_R_INFLIGHT_OVERLAP) == 1 && count_rule(DMT_R_SG_OVERLAP) == 1);
        const dmt_finding *f = first_of(DMT_R_INFLIGHT_OVERLAP);
        CHECK(f && strstr(f->message, "element 0 0x50000") != NULL);
    }

    /* concurrent-on-adapter: a second transfer on a non-SG adapter */
    two_in_flight(true, true, apart, false, true);
    EXPECT_ONLY(DMT_R_CONCURRENT_ON_ADAPTER, 1, "concurrent-on-adapter");
    two_in_flight(true, true, apart, true, true);
    EXPECT_CLEAN("concurrent-on-adapter near miss (SG adapter)");
    two_in_flight(true, true, apart, false, false);
    EXPECT_CLEAN("concurrent-on-adapter near miss (two adapters)");
}

/* ---- programming rules -------------------------------------------------------------------------
 */

/* One transfer of sg, programmed with desc (bad: index of a bad magic). */
static void programmed(uint32_t n, const dmt_sg_elem *sg, uint32_t m, const dmt_sg_elem *desc,
                       int bad, bool unlock_now)
{
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += sg[i].len;
    tk_begin(total, DMT_LOCK_READ);
    tk_start(1, 1, 1, 0, total, true);
    tk_exec(1, 1, total, n, sg);
    tk_desc(1, 0, m, desc, bad);
    tk_ring(1, 0, TK_RING0, m);
    tk_start_end(1, 1, 0, total);
    tk_irq(1, 0, 1);
    tk_complete(1, 1, true);
    if (unlock_now)
        tk_unlock(1);
    tk_teardown();
    run(false);
}

static void test_prog_rules(void)
{
    static const dmt_sg_elem sg3[] = {{0x100000, 0x1000}, {0x200000, 0x2000}, {0x400000, 0x800}};

    /* exact */
    programmed(3, sg3, 3, sg3, -1, true);
    EXPECT_CLEAN("prog exact");
    /* split into pieces (revision 2 style) and merged adjacent elements */
    static const dmt_sg_elem split[] = {
        {0x100000, 0x1000}, {0x200000, 0x1000}, {0x201000, 0x1000}, {0x400000, 0x800}};
    programmed(3, sg3, 4, split, -1, true);
    EXPECT_CLEAN("prog split near miss");
    static const dmt_sg_elem adj[] = {{0x100000, 0x1000}, {0x101000, 0x1000}};
    static const dmt_sg_elem merged[] = {{0x100000, 0x2000}};
    programmed(2, adj, 1, merged, -1, true);
    EXPECT_CLEAN("prog merged adjacent near miss");

    /* prog-mismatch: length +1 (sg-len-off-by-one), a wrong address, bad magic */
    static const dmt_sg_elem plus1[] = {{0x100000, 0x1000}, {0x200000, 0x2000}, {0x400000, 0x801}};
    programmed(3, sg3, 3, plus1, -1, true);
    EXPECT_ONLY(DMT_R_PROG_MISMATCH, 1, "prog-mismatch (length)");
    static const dmt_sg_elem trunc[] = {
        {0x100000, 0x1000}, {0x200000, 0x2000}, {0x10400000ull, 0x800}};
    programmed(3, sg3, 3, trunc, -1, true);
    EXPECT_ONLY(DMT_R_PROG_MISMATCH, 1, "prog-mismatch (address)");
    programmed(3, sg3, 3, sg3, 1, true);
    EXPECT_ONLY(DMT_R_PROG_MISMATCH, 1, "prog-mismatch (magic)");
    /* a descriptor merged over non-adjacent elements */
    static const dmt_sg_elem nadj[] = {{0x100000, 0x1000}, {0x102000, 0x1000}};
    programmed(2, nadj, 1, merged, -1, true);
    CHECK(count_rule(DMT_R_PROG_MISMATCH) == 1);

    /* prog-duplicate (sg-dup: the first element posted again) */
    static const dmt_sg_elem dup[] = {
        {0x100000, 0x1000}, {0x100000, 0x1000}, {0x200000, 0x2000}, {0x400000, 0x800}};
    programmed(3, sg3, 4, dup, -1, true);
    EXPECT_ONLY(DMT_R_PROG_DUPLICATE, 1, "prog-duplicate");

    /* prog-skipped: a middle element never programmed (found at CompleteDma) */
    static const dmt_sg_elem hole[] = {{0x100000, 0x1000}, {0x400000, 0x800}};
    programmed(3, sg3, 2, hole, -1, true);
    EXPECT_ONLY(DMT_R_PROG_SKIPPED, 1, "prog-skipped (hole)");
    /* the last element never programmed, then the buffer unlocked (sg-skip) */
    static const dmt_sg_elem first2[] = {{0x100000, 0x1000}, {0x200000, 0x2000}};
    programmed(3, sg3, 2, first2, -1, true);
    EXPECT_ONLY(DMT_R_PROG_SKIPPED, 1, "prog-skipped (suffix, unlock)");

    /* suffix: near miss = the driver goes on from where programming stopped
     * (a short chunk); trigger = it goes on after the skipped bytes */
    for (int near = 0; near < 2; near++) {
        t_programmed_as(0x4000, 0x3800, 3, sg3, 2, first2);
        tk_irq(1, 0, 1);
        tk_complete(1, 1, true);
        static const dmt_sg_elem rest[] = {{0x400000, 0x800}, {0x500000, 0x800}};
        uint64_t next = near ? 0x3000 : 0x3800;
        uint32_t nrest = near ? 2 : 1;
        const dmt_sg_elem *r = near ? rest : rest + 1;
        tk_chunk(2, 1, 1, 1, TK_RING0, 1, 0, next, nrest, r, true);
        tk_end_trace();
        run(false);
        expect_case(near, DMT_R_PROG_SKIPPED, "prog-skipped (suffix, next chunk)",
                    "prog-skipped near miss (short chunk)");
    }

    /* prog-ring-outside-cb */
    for (int near = 0; near < 2; near++) {
        tk_begin(0x3000, DMT_LOCK_READ);
        tk_start(1, 1, 1, 0, 0x3000, true);
        tk_exec(1, 1, 0x3000, 2, SG2);
        tk_desc(1, 0, 2, SG2, -1);
        tk_ring(1, 0, near ? TK_RING0 + 0x1000 - 64 : TK_RING0 + 0x1000 - 32, 2);
        tk_start_end(1, 1, 0, 0x3000);
        tk_irq(1, 0, 1);
        tk_complete(1, 1, true);
        tk_end_trace();
        run(false);
        if (near) {
            /* inside, but those bytes were never written: unverified, no finding */
            EXPECT_CLEAN("prog-ring-outside-cb near miss");
        } else {
            EXPECT_ONLY(DMT_R_PROG_RING_OUTSIDE_CB, 1, "prog-ring-outside-cb");
        }
    }

    /* programmed bytes beyond the grant: overlong descriptors against
     * MaximumLength and the map registers */
    tk_reset();
    tk_setup(64, true, 0x2000, 3, UINT64_MAX);
    tk_lock(1, 0x7f0000000000, 0x4000, DMT_LOCK_READ);
    tk_start(1, 1, 1, 0, 0x4000, true);
    tk_exec(1, 1, 0x3000, 2, SG2);
    static const dmt_sg_elem longer[] = {{0x100000, 0x1000}, {0x200000, 0x3000}};
    tk_desc(1, 0, 2, longer, -1);
    tk_ring(1, 0, TK_RING0, 2);
    tk_start_end(1, 1, 0, 0x3000);
    tk_irq(1, 0, 1);
    tk_complete(1, 1, true);
    tk_end_trace();
    run(false);
    CHECK(count_rule(DMT_R_PROG_MISMATCH) == 1);
    CHECK(count_rule(DMT_R_TRANSFER_EXCEEDS_MAX) == 1);
    CHECK(count_rule(DMT_R_TRANSFER_EXCEEDS_MAP_REGISTERS) == 1);
    CHECK(FN == 3);
}

/* ---- MDL rules
 * ------------------------------------------------------------------------------------ */

static void test_mdl_rules(void)
{
    /* startdma-unlocked-mdl: after its unlock; never locked; MDL 0 */
    for (int c = 0; c < 4; c++) {
        tk_begin(0x3000, DMT_LOCK_READ);
        if (c == 0)
            tk_unlock(1);
        uint32_t m = c == 1 ? 7 : c == 2 ? 0 : 1;
        tk_chunk(1, 1, m, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
        if (c != 0)
            tk_unlock(1);
        tk_teardown();
        run(false);
        if (c == 3)
            EXPECT_CLEAN("startdma-unlocked-mdl near miss");
        else
            EXPECT_ONLY(DMT_R_STARTDMA_UNLOCKED_MDL, 1, "startdma-unlocked-mdl");
    }
    CHECK(first_of(DMT_R_STARTDMA_UNLOCKED_MDL) == NULL);

    /* lock-op-direction: to device from a write-locked buffer, from device
     * into a read-locked one; modify allows both */
    struct {
        uint32_t op;
        bool wtd, bad;
    } cases[] = {{DMT_LOCK_WRITE, true, true},   {DMT_LOCK_READ, false, true},
                 {DMT_LOCK_READ, true, false},   {DMT_LOCK_WRITE, false, false},
                 {DMT_LOCK_MODIFY, true, false}, {DMT_LOCK_MODIFY, false, false}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tk_begin(0x3000, cases[i].op);
        tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0, 2, SG2, cases[i].wtd);
        tk_end_trace();
        run(false);
        if (cases[i].bad)
            EXPECT_ONLY(DMT_R_LOCK_OP_DIRECTION, 1, "lock-op-direction");
        else
            EXPECT_CLEAN("lock-op-direction near miss");
    }

    /* unlock-unknown-mdl */
    tk_reset();
    tk_lock(1, 0x7f0000000000, 0x3000, DMT_LOCK_READ);
    tk_unlock(1);
    tk_unlock(1);
    run(false);
    EXPECT_ONLY(DMT_R_UNLOCK_UNKNOWN_MDL, 1, "unlock-unknown-mdl");
    tk_reset();
    tk_lock(1, 0x7f0000000000, 0x3000, DMT_LOCK_READ);
    tk_unlock(1);
    tk_lock(1, 0x7f0000000000, 0x3000, DMT_LOCK_READ); /* an id used again */
    tk_unlock(1);
    run(false);
    EXPECT_CLEAN("unlock-unknown-mdl near miss");
}

/* ---- completion rules
 * ----------------------------------------------------------------------------- */

static void test_complete_rules(void)
{
    /* complete-missing: unlocked without CompleteDma */
    for (int near = 0; near < 2; near++) {
        t_programmed();
        tk_irq(1, 0, 1);
        if (near)
            tk_complete(1, 1, true);
        tk_end_trace();
        run(false);
        expect_case(near, DMT_R_COMPLETE_MISSING, "complete-missing", "complete-missing near miss");
    }

    /* complete-twice: the same id again, and the probe's "no match" (xfer 0) */
    for (int c = 0; c < 3; c++) {
        tk_begin(0x3000, DMT_LOCK_READ);
        tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
        if (c < 2)
            tk_complete(c == 0 ? 1 : 0, 1, true);
        tk_end_trace();
        run(false);
        if (c == 2)
            EXPECT_CLEAN("complete-twice near miss");
        else
            EXPECT_ONLY(DMT_R_COMPLETE_TWICE, 1, "complete-twice");
    }

    /* complete-before-interrupt (complete-early): CompleteDma right after the
     * doorbell; near miss: after the ISR saw the channel done; also a
     * transfer never programmed (nothing to wait for) */
    for (int c = 0; c < 3; c++) {
        tk_begin(0x3000, DMT_LOCK_READ);
        tk_start(1, 1, 1, 0, 0x3000, true);
        tk_exec(1, 1, 0x3000, 2, SG2);
        if (c != 2) {
            tk_desc(1, 0, 2, SG2, -1);
            tk_ring(1, 0, TK_RING0, 2);
        }
        if (c == 0)
            tk_complete(1, 1, true);
        tk_start_end(1, 1, 0, 0x3000);
        if (c != 2) {
            /* the other channel's completion does not count */
            tk_rd(1, 0x008, 1u << 2);
            if (c == 0)
                tk_irq(1, 0, 1);
        }
        if (c != 0)
            tk_irq(1, 0, 1), tk_complete(1, 1, true);
        tk_end_trace();
        run(false);
        if (c)
            EXPECT_CLEAN("complete-before-interrupt near miss");
        else
            EXPECT_ONLY(DMT_R_COMPLETE_BEFORE_INTERRUPT, 1, "complete-before-interrupt");
    }
    /* the other channel's DONE alone is not enough */
    t_programmed();
    tk_rd(1, 0x008, 1u << 2);
    tk_complete(1, 1, true);
    tk_end_trace();
    run(false);
    EXPECT_ONLY(DMT_R_COMPLETE_BEFORE_INTERRUPT, 1, "complete-before-interrupt (other channel)");
    /* a channel RESET (timeout path) stops the run: no finding */
    t_programmed();
    tk_wr(1, 0x100, 4); /* CTRL.RESET */
    tk_complete(1, 1, true);
    tk_end_trace();
    run(false);
    EXPECT_CLEAN("complete-before-interrupt near miss (reset)");

    /* generic device (no model): interrupts decide */
    for (int near = 0; near < 2; near++) {
        tk_reset();
        tk_adapter(1, 5, true, 1 << 20, 257, UINT64_MAX);
        tk_lock(1, 0x7f0000000000, 0x3000, DMT_LOCK_READ);
        tk_start(1, 1, 1, 0, 0x3000, true);
        tk_exec(1, 1, 0x3000, 2, SG2);
        tk_start_end(1, 1, 0, 0x3000);
        if (near) {
            dmt_record *r = tk_add(DMT_K_INTERRUPT);
            r->dev = 5;
            r->claimed = true;
        }
        tk_complete(1, 1, true);
        tk_unlock(1);
        tk_put(1);
        run(false);
        expect_case(near, DMT_R_COMPLETE_BEFORE_INTERRUPT, "complete-before-interrupt (generic)",
                    "complete-before-interrupt near miss (generic)");
    }

    /* use-after-complete: the doorbell rung again after CompleteDma */
    for (int near = 0; near < 2; near++) {
        tk_begin(0x3000, DMT_LOCK_READ);
        tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
        if (!near)
            tk_ring(1, 0, TK_RING0, 2);
        else
            tk_chunk(2, 1, 1, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
        tk_end_trace();
        run(false);
        expect_case(near, DMT_R_USE_AFTER_COMPLETE, "use-after-complete",
                    "use-after-complete near miss");
    }
}

/* ---- records of several CPUs -------------------------------------------------------------------
 */

static void all_on(uint32_t cpu)
{
    for (uint32_t i = 0; i < tk_nrec; i++)
        tk_rec[i].cpu = cpu;
}

/* The first record of kind for xfer. */
static dmt_record *rec_of(uint32_t kind, uint32_t xfer)
{
    for (uint32_t i = 0; i < tk_nrec; i++)
        if (tk_rec[i].kind == kind && tk_rec[i].xfer == xfer)
            return &tk_rec[i];
    CHECKF(0, "no %s of xfer %u", dmt_kind_name(kind), xfer);
    return &tk_rec[0];
}

/* r and every record after it happen ns later. */
static void later_from(const dmt_record *r, int64_t ns)
{
    for (uint32_t i = (uint32_t)(r - tk_rec); i < tk_nrec; i++)
        tk_rec[i].ts += ns;
}

/* Case c of test_cpus: every record on CPU 0 but on1 on CPU 1 (c 0 and 2),
 * or all on CPU 0 (c 1), or none with a CPU (c 3); with c 2 the records
 * from `later` on happen 1 ms later. */
static void cpu_case(int c, dmt_record *on1, const dmt_record *later)
{
    if (c != 3)
        all_on(0);
    if (c == 0 || c == 2)
        on1->cpu = 1;
    if (c == 2)
        later_from(later, 1000000);
}

/* The one finding of rule: its CPU, and uncertain (naming both CPUs) or
 * not. */
static void expect_cpu_case(int rule, uint32_t cpu, bool unsure, const char *what)
{
    const dmt_finding *f = first_of(rule);
    CHECKF(f && FN == 1, "%s: %u findings", what, FN);
    if (FN != 1)
        dump_findings(what);
    if (!f)
        return;
    CHECKF(f->cpu == cpu, "%s: found on CPU %u, expected %u", what, f->cpu, cpu);
    CHECKF(f->uncertain == unsure, "%s: uncertain %d (%s)", what, f->uncertain, f->uncertain_why);
    if (unsure)
        CHECKF(strstr(f->uncertain_why, "on CPU 0") && strstr(f->uncertain_why, "on CPU 1") &&
                   strstr(f->uncertain_why, "other order"),
               "%s: %s", what, f->uncertain_why);
}

/* A finding that rests on the order of two records made on different CPUs
 * a few microseconds apart is uncertain (both when the other record came
 * before and when it comes after, the finding then held back); the same
 * CPU, a record of another CPU far enough away, or a trace without CPUs
 * leave it certain.  Each case: 0 across CPUs, close; 1 one CPU; 2 across
 * CPUs, 1 ms apart; 3 no CPUs. */
static void test_cpus(void)
{
    for (int c = 0; c < 4; c++) {
        uint32_t want_cpu = c == 3 ? DMT_CPU_NONE : c == 1 ? 0 : 1;
        /* complete-before-interrupt: CompleteDma on CPU 1, the ISR on CPU 0
         * reads the channel done 2 us later */
        tk_begin(0x3000, DMT_LOCK_READ);
        tk_start(1, 1, 1, 0, 0x3000, true);
        tk_exec(1, 1, 0x3000, 2, SG2);
        tk_desc(1, 0, 2, SG2, -1);
        tk_ring(1, 0, TK_RING0, 2);
        tk_complete(1, 1, true);
        tk_start_end(1, 1, 0, 0x3000);
        tk_irq(1, 0, 1);
        tk_end_trace();
        cpu_case(c, rec_of(DMT_K_COMPLETE_DMA, 1), rec_of(DMT_K_START_DMA_END, 1));
        dmt_audit_stats st = run_cfg(NULL);
        expect_cpu_case(DMT_R_COMPLETE_BEFORE_INTERRUPT, want_cpu, c == 0,
                        "complete-before-interrupt across CPUs");
        CHECK(st.findings == 1 && st.uncertain == (c == 0));

        /* use-after-complete: CompleteDma on CPU 1, the doorbell on CPU 0
         * 4 us later (the other record came first in the file) */
        tk_begin(0x3000, DMT_LOCK_READ);
        tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
        tk_ring(1, 0, TK_RING0, 2);
        tk_end_trace();
        cpu_case(c, rec_of(DMT_K_COMPLETE_DMA, 1), rec_of(DMT_K_COMPLETE_DMA, 1) + 1);
        run(false);
        expect_cpu_case(DMT_R_USE_AFTER_COMPLETE, c == 3 ? DMT_CPU_NONE : 0, c == 0,
                        "use-after-complete across CPUs");

        /* inflight-overlap and concurrent-on-adapter: xfer 2's ExecuteDma on
         * CPU 1, xfer 1's CompleteDma on CPU 0 6 us after it */
        static const dmt_sg_elem over[] = {{0x101000, 0x1000}};
        static const dmt_sg_elem apart[] = {{0x102000, 0x1000}};
        for (int rule = 0; rule < 2; rule++) {
            if (rule == 0)
                two_in_flight(true, false, over, true, false);
            else
                two_in_flight(true, true, apart, false, true);
            cpu_case(c, rec_of(DMT_K_EXECUTE_DMA, 2), rec_of(DMT_K_START_DMA_END, 2));
            run(false);
            expect_cpu_case(
                rule ? DMT_R_CONCURRENT_ON_ADAPTER : DMT_R_INFLIGHT_OVERLAP, want_cpu, c == 0,
                rule ? "concurrent-on-adapter across CPUs" : "inflight-overlap across CPUs");
        }
    }
    /* a negative ordering uncertainty trusts the file */
    two_in_flight(true, false, (const dmt_sg_elem[]){{0x101000, 0x1000}}, true, false);
    all_on(0);
    rec_of(DMT_K_EXECUTE_DMA, 2)->cpu = 1;
    dmt_audit_config cfg = {.cpu_order_ns = -1};
    run_cfg(&cfg);
    EXPECT_ONLY(DMT_R_INFLIGHT_OVERLAP, 1, "inflight-overlap, file order trusted");
}

/* ---- adapters, common buffers, leaks -----------------------------------------------------------
 */

static void test_resource_rules(void)
{
    /* adapter-after-put: StartDma on a put adapter; PutDmaAdapter twice */
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    tk_cb_release(1, 1);
    tk_put(1);
    tk_lock(1, 0x7f0000000000, 0x3000, DMT_LOCK_READ);
    tk_start(1, 1, 1, 0, 0x3000, true);
    tk_start_end(1, 1, 1, 0);
    tk_unlock(1);
    tk_cb_release(2, 2);
    tk_put(2);
    tk_put(2);
    run(false);
    EXPECT_ONLY(DMT_R_ADAPTER_AFTER_PUT, 2, "adapter-after-put");
    tk_begin(0x3000, DMT_LOCK_READ);
    tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
    tk_end_trace();
    run(false);
    EXPECT_CLEAN("adapter-after-put near miss");

    /* cb-release-unknown */
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    tk_cb_release(1, 1);
    tk_cb_release(1, 1);
    tk_put(1);
    tk_cb_release(2, 2);
    tk_put(2);
    run(false);
    EXPECT_ONLY(DMT_R_CB_RELEASE_UNKNOWN, 1, "cb-release-unknown");

    /* leak-common-buffer at PutDmaAdapter; near miss: released first */
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    tk_put(1);
    tk_cb_release(2, 2);
    tk_put(2);
    run(false);
    EXPECT_ONLY(DMT_R_LEAK_COMMON_BUFFER, 1, "leak-common-buffer (put)");

    /* leak-adapter / leak-common-buffer at the end: only for an unload trace */
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    tk_cb_release(2, 2);
    tk_put(2);
    run(false);
    EXPECT_CLEAN("leaks of long-lived objects without end_is_unload");
    dmt_audit_stats st;
    {
        dmt_audit_config cfg;
        memset(&cfg, 0, sizeof cfg);
        st = run_cfg(&cfg);
    }
    CHECK(st.held_adapters == 1 && st.held_cbs == 1);
    run(true);
    CHECK(count_rule(DMT_R_LEAK_ADAPTER) == 1 && count_rule(DMT_R_LEAK_COMMON_BUFFER) == 1 &&
          FN == 2);

    /* leak-mdl, leak-sglist at the end of the trace */
    tk_begin(0x3000, DMT_LOCK_READ);
    tk_lock(2, 0x7f0000100000, 0x3000, DMT_LOCK_READ);
    tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
    tk_unlock(1);
    run(false);
    EXPECT_ONLY(DMT_R_LEAK_MDL, 1, "leak-mdl");
    tk_begin(0x3000, DMT_LOCK_READ);
    tk_start(1, 1, 1, 0, 0x3000, true);
    tk_exec(1, 1, 0x3000, 2, SG2);
    tk_start_end(1, 1, 0, 0x3000);
    run(false);
    CHECK(count_rule(DMT_R_LEAK_SGLIST) == 1 && count_rule(DMT_R_LEAK_MDL) == 1 && FN == 2);
    /* leak-sglist at PutDmaAdapter */
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    tk_start(1, 1, 0, 0, 0x3000, true);
    tk_exec(1, 1, 0x3000, 2, SG2);
    tk_cb_release(1, 1);
    tk_put(1);
    run(false);
    CHECK(count_rule(DMT_R_LEAK_SGLIST) == 1 && count_rule(DMT_R_STARTDMA_UNLOCKED_MDL) == 1 &&
          FN == 2);
}

/* ---- uncertainty, caps, rule masks
 * ------------------------------------------------------------------ */

static void test_lost_uncertain(void)
{
    /* the CompleteDma might be in the lost range */
    tk_begin(0x3000, DMT_LOCK_READ);
    tk_start(1, 1, 1, 0, 0x3000, true);
    tk_exec(1, 1, 0x3000, 2, SG2);
    tk_lost(5);
    tk_end_trace();
    dmt_audit_stats st = run_cfg(NULL);
    CHECK(st.lost_records == 5 && st.lost_ranges == 1);
    const dmt_finding *f = first_of(DMT_R_COMPLETE_MISSING);
    CHECK(f && f->uncertain && strstr(f->uncertain_why, "lost") != NULL);
    /* a loss before the transfer does not make it uncertain */
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    tk_lost(5);
    tk_lock(1, 0x7f0000000000, 0x3000, DMT_LOCK_READ);
    tk_start(1, 1, 1, 0, 0x3000, true);
    tk_exec(1, 1, 0x3000, 2, SG2);
    tk_end_trace();
    run(false);
    f = first_of(DMT_R_COMPLETE_MISSING);
    CHECK(f && !f->uncertain);
    /* an unknown MDL after a loss: its LockBuffer may have been lost */
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    tk_lost(1);
    tk_chunk(1, 1, 9, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
    tk_teardown();
    run(false);
    f = first_of(DMT_R_STARTDMA_UNLOCKED_MDL);
    CHECK(f && f->uncertain);
    /* refs are sequence numbers: the LOST range shifts them */
    tk_reset();
    tk_lost(100);
    tk_lock(1, 0x7f0000000000, 0x3000, DMT_LOCK_READ);
    run(false);
    f = first_of(DMT_R_LEAK_MDL);
    CHECK(f && f->n_refs == 1 && f->refs[0] == 100 && f->index == 1);
}

static void test_caps_and_masks(void)
{
    /* transfers cap: 2 tracked; the third evicts; findings about evicted
     * objects are uncertain */
    tk_begin(0x3000, DMT_LOCK_READ);
    for (uint32_t x = 1; x <= 3; x++) {
        tk_start(x, 1, 1, 0, 0x1000, true);
        tk_start_end(x, 1, 0, 0);
    }
    tk_complete(1, 1, true);
    tk_end_trace();
    dmt_audit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.max_transfers = 2;
    dmt_audit_stats st = run_cfg(&cfg);
    CHECK(st.evicted >= 1);
    const dmt_finding *f = first_of(DMT_R_COMPLETE_TWICE);
    CHECK(f && f->uncertain && strstr(f->uncertain_why, "cap") != NULL);

    /* rule masks and the --rules parser */
    uint64_t m = 0;
    dmt_error err;
    CHECK(dmt_audit_parse_rules("prog-*", &m, &err) == 0);
    CHECK(m == ((1ull << DMT_R_PROG_MISMATCH) | (1ull << DMT_R_PROG_SKIPPED) |
                (1ull << DMT_R_PROG_DUPLICATE) | (1ull << DMT_R_PROG_RING_OUTSIDE_CB)));
    CHECK(dmt_audit_parse_rules("-leak-*", &m, &err) == 0);
    CHECK(!(m & (1ull << DMT_R_LEAK_MDL)) && (m & (1ull << DMT_R_SG_OVERLAP)));
    CHECK(dmt_audit_parse_rules("all,-sg-overlap", &m, &err) == 0);
    CHECK(m == (DMT_AUDIT_ALL_RULES & ~(1ull << DMT_R_SG_OVERLAP)));
    CHECK(dmt_audit_parse_rules("sg-overlap,complete-twice", &m, &err) == 0);
    CHECK(m == ((1ull << DMT_R_SG_OVERLAP) | (1ull << DMT_R_COMPLETE_TWICE)));
    CHECK(dmt_audit_parse_rules("no-such-rule", &m, &err) == DMT_E_USAGE);
    CHECK(strstr(err.msg, "no-such-rule") != NULL);
    CHECK(dmt_audit_parse_rules("", &m, &err) == DMT_E_USAGE);
    CHECK(dmt_audit_parse_rules("sg-overlap,,x", &m, &err) == DMT_E_USAGE);

    /* a masked rule raises nothing, the others still do */
    one_transfer(2, SG2, 0x3001, 0xFFFFFull, 64, false);
    CHECK(count_rule(DMT_R_SG_TOTAL_MISMATCH) == 1 && count_rule(DMT_R_ADDR_BEYOND_LIMIT) == 1);
    memset(&cfg, 0, sizeof cfg);
    cfg.rules = DMT_AUDIT_ALL_RULES & ~(1ull << DMT_R_SG_TOTAL_MISMATCH);
    run_cfg(&cfg);
    CHECK(count_rule(DMT_R_SG_TOTAL_MISMATCH) == 0 && count_rule(DMT_R_ADDR_BEYOND_LIMIT) == 1);

    /* the rule table: ids unique, kebab-case, every field set */
    const dmt_audit_rule_info *ri = dmt_audit_rules();
    for (int i = 0; i < DMT_R_COUNT_; i++) {
        CHECK(ri[i].id && ri[i].summary && ri[i].dv && ri[i].severity <= DMT_SEV_ERROR);
        CHECK(dmt_audit_rule_by_id(ri[i].id) == i);
        for (const char *p = ri[i].id; p && *p; p++)
            CHECK((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-');
    }
    CHECK(dmt_audit_rule_by_id("nope") == -1);
}

/* Hostile input: random records of every kind with colliding ids, random
 * SG lists, descriptor bytes and register writes that ring doorbells on
 * random rings.  Nothing may crash (ASan/UBSan builds run this), the caps
 * hold, and every finding is well formed. */
static void random_sink(void *user, const dmt_finding *f)
{
    uint64_t *n = user;
    (*n)++;
    CHECK(f->rule < DMT_R_COUNT_);
    CHECK(f->n_refs <= DMT_AUDIT_MAX_REFS);
    for (uint32_t i = 1; i < f->n_refs; i++)
        CHECK(f->refs[i - 1] < f->refs[i]);
    CHECK(memchr(f->message, 0, sizeof f->message) != NULL && f->message[0]);
}

static void test_random(void)
{
    uint64_t found = 0;
    dmt_audit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.sink = random_sink;
    cfg.user = &found;
    cfg.max_transfers = 64;
    cfg.max_mdls = 16;
    cfg.max_adapters = 8;
    cfg.max_cbs = 8;
    cfg.max_sg_elems = 20000;
    cfg.max_shadow_cbs = 4;
    cfg.end_is_unload = true;
    dmt_audit *a = dmt_audit_new(&cfg);
    CHECK(a != NULL);
    if (!a)
        return;
    static dmt_sg_elem sg[DMT_MAX_SG_ELEMENTS];
    static uint8_t bytes[4096];
    static uint64_t vals[64];
    unsigned long long rs = 12345;
    dmt_record r;
    /* a claimed dmm device first, so doorbells are decoded */
    memset(&r, 0, sizeof r);
    r.kind = DMT_K_REG_READ;
    r.width = 4;
    r.dev = 1;
    r.value = 0x444D4101;
    dmt_audit_add(a, &r, 0);
    for (uint64_t i = 1; i < 300000; i++) {
        memset(&r, 0, sizeof r);
        uint64_t x = tk_rand(&rs);
        r.kind = 1 + (uint32_t)(x % 23);
        r.ts = (int64_t)i * 100 - (int64_t)(x % 1000);
        r.seq = i;
        r.width = (x >> 8) & 1 ? 4 : 8;
        r.dev = 1 + (uint32_t)((x >> 9) % 2);
        r.adapter = (uint32_t)((x >> 10) % 12);
        r.xfer = (uint32_t)((x >> 14) % 100);
        r.mdl = (uint32_t)((x >> 20) % 24);
        r.cb = (uint32_t)((x >> 25) % 12);
        r.op = (uint32_t)((x >> 29) % 4);
        r.write_to_device = (x >> 31) & 1;
        r.sg = (x >> 32) & 1;
        r.claimed = (x >> 33) & 1;
        uint64_t y = tk_rand(&rs);
        r.offset = y % 0x10000;
        r.length = (y >> 16) % 0x20000;
        r.addr = (y & 1) ? (y >> 20) << 12 : y;
        r.addr_limit = (y >> 40) & 1 ? 0xFFFFFFFFull : UINT64_MAX;
        r.map_registers = (uint32_t)((y >> 41) % 40);
        r.va = (y >> 3) & 0x7ffffffff000ull;
        r.count = 1 + (y >> 50) % 5;
        r.value = tk_rand(&rs);
        r.status = (uint32_t)((y >> 45) % 3 == 0);
        if (r.kind == DMT_K_REG_WRITE || r.kind == DMT_K_REG_READ) {
            static const uint64_t offs[] = {0,     4,     8,     0x100, 0x108, 0x10c, 0x110,
                                            0x104, 0x140, 0x148, 0x14c, 0x150, 0x144};
            r.off = offs[y % (sizeof offs / sizeof offs[0])];
            r.width = 4;
            if (r.off == 0x10c || r.off == 0x14c)
                r.value = 0;
            if (r.off == 0x110 || r.off == 0x150)
                r.value %= 300;
            if (r.off == 0x108 || r.off == 0x148)
                r.value = (r.value % 4) * 0x1000;
            if (r.off == 0x100 || r.off == 0x140)
                r.value &= 5;
            if (r.off == 0 && r.kind == DMT_K_REG_READ)
                r.value = 0x444D4101; /* the device stays a dmm */
        }
        if (r.kind == DMT_K_REG_WRITE_BUF || r.kind == DMT_K_REG_READ_BUF) {
            r.off = 0x100 + (y % 2) * 0x40;
            r.n_values = (uint32_t)(y % 64);
            r.width = 4;
            for (uint32_t k = 0; k < r.n_values; k++)
                vals[k] = tk_rand(&rs) % 8;
            r.values = vals;
        }
        if (r.kind == DMT_K_EXECUTE_DMA) {
            r.n_sg = (uint32_t)(tk_rand(&rs) % ((x & 0xF) == 0 ? DMT_MAX_SG_ELEMENTS : 8));
            for (uint32_t k = 0; k < r.n_sg; k++) {
                uint64_t z = tk_rand(&rs);
                sg[k].addr = (z & 3) == 0 ? UINT64_MAX - (z % 5000) : (z % 64) << 12;
                sg[k].len = (uint32_t)((z >> 32) % 0x3000);
            }
            r.sg_list = sg;
        }
        if (r.kind == DMT_K_COMMON_ALLOC) {
            r.addr = (y % 4) * 0x1000;
            r.length = 0x1000 + (y % 3) * 0x1000;
        }
        if (r.kind == DMT_K_DESC_WRITE || r.kind == DMT_K_PAYLOAD || r.kind == DMT_K_MARKER) {
            r.n_bytes = (uint32_t)(y % sizeof bytes);
            for (uint32_t k = 0; k < r.n_bytes; k++)
                bytes[k] = (uint8_t)tk_rand(&rs);
            /* some valid revision-1 descriptors pointing into recent lists */
            for (uint32_t k = 0; k + 32 <= r.n_bytes && (x & 1); k += 32) {
                bytes[k + 2] = 0xC1;
                bytes[k + 3] = 0xD5;
            }
            r.bytes = bytes;
            r.offset = (y >> 12) % 0x3000;
        }
        if (r.kind == DMT_K_LOST)
            r.value = i;
        CHECK(dmt_audit_add(a, &r, i) == 0);
    }
    CHECK(dmt_audit_finish(a, true) == 0);
    const dmt_audit_stats *st = dmt_audit_get_stats(a);
    CHECK(st->findings == found && found > 0);
    CHECK(st->evicted > 0);
    CHECK(st->held_adapters <= 8 && st->held_mdls <= 16 && st->held_cbs <= 8);
    fprintf(stderr,
            "random: %" PRIu64 " findings, %" PRIu64 " uncertain, %" PRIu64 " evictions, %" PRIu64
            " device starts\n",
            st->findings, st->uncertain, st->evicted, st->doorbells);
    dmt_audit_free(a);
}

/* Transfer k of a long stream into the builder: 1 to 3 page elements above 4 GiB,
 * odd k on channel 1 writing memory, even k on channel 0 reading it. */
static void t_random_transfer(uint32_t k, unsigned long long *rs)
{
    dmt_sg_elem sg[3];
    uint32_t n = 1 + (uint32_t)(tk_rand(rs) % 3);
    for (uint32_t i = 0; i < n; i++) {
        sg[i].addr = 0x100000000ull + ((uint64_t)k * 16 + i * 4) * 4096;
        sg[i].len = 4096;
    }
    uint32_t ch = k & 1;
    tk_lock(k, 0x7f0000000000, n * 4096, ch ? DMT_LOCK_WRITE : DMT_LOCK_READ);
    tk_chunk(k, 1 + ch, k, 1 + ch, ch ? TK_RING1 : TK_RING0, 1, ch, 0, n, sg, !ch);
    tk_unlock(k);
}

/* A long clean stream: many transfers, bounded state, zero findings. */
static void test_long_stream(void)
{
    dmt_audit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.sink = sink;
    FN = 0;
    dmt_audit *a = dmt_audit_new(&cfg);
    CHECK(a != NULL);
    if (!a)
        return;
    uint64_t idx = 0;
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    for (uint32_t i = 0; i < tk_nrec; i++)
        dmt_audit_add(a, &tk_rec[i], idx++);
    unsigned long long rs = 7;
    const uint32_t N = 200000;
    for (uint32_t k = 1; k <= N; k++) {
        tk_reset();
        tk_next_seq(idx);
        t_random_transfer(k, &rs);
        for (uint32_t i = 0; i < tk_nrec; i++)
            dmt_audit_add(a, &tk_rec[i], idx++);
    }
    dmt_audit_finish(a, false);
    const dmt_audit_stats *st = dmt_audit_get_stats(a);
    CHECKF(FN == 0, "%u findings in the long clean stream", FN);
    if (FN)
        dump_findings("long stream");
    CHECK(st->executed == N && st->programs_checked == N);
    CHECK(st->records == idx);
    CHECK(st->held_sglists == 0 && st->held_mdls == 0);
    CHECK(st->evicted == 0);
    fprintf(stderr, "long stream: %" PRIu64 " records audited\n", st->records);
    dmt_audit_free(a);
}

/* Loss makes findings uncertain, never certain: a clean stream with random
 * ranges of records replaced by LOST records may raise findings, and every
 * one of them must be marked uncertain. */
static void lossy_sink(void *user, const dmt_finding *f)
{
    uint64_t *n = user;
    n[0]++;
    if (!f->uncertain) {
        n[1]++;
        if (n[1] <= 5)
            fprintf(stderr, "  certain despite loss: %s: %s\n", dmt_audit_rules()[f->rule].id,
                    f->message);
    }
}

static void test_lossy_stream(void)
{
    for (int round = 0; round < 4; round++) {
        uint64_t n[2] = {0, 0};
        dmt_audit_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.sink = lossy_sink;
        cfg.user = n;
        cfg.end_is_unload = round & 1;
        dmt_audit *a = dmt_audit_new(&cfg);
        CHECK(a != NULL);
        if (!a)
            return;
        unsigned long long rs = 99 + (unsigned long long)round;
        uint64_t idx = 0, seq = 0, lost = 0;
        dmt_record lr;
        /* setup first (never dropped), then transfers with drops */
        tk_reset();
        tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
        for (uint32_t i = 0; i < tk_nrec; i++) {
            tk_rec[i].seq = seq++;
            dmt_audit_add(a, &tk_rec[i], idx++);
        }
        for (uint32_t k = 1; k <= 20000; k++) {
            tk_reset();
            t_random_transfer(k, &rs);
            for (uint32_t i = 0; i < tk_nrec; i++) {
                if (tk_rand(&rs) % 500 == 0) { /* drop a run of records */
                    uint32_t run = 1 + (uint32_t)(tk_rand(&rs) % 12);
                    if (run > tk_nrec - i)
                        run = tk_nrec - i;
                    memset(&lr, 0, sizeof lr);
                    lr.kind = DMT_K_LOST;
                    lr.value = seq;
                    lr.count = run;
                    dmt_audit_add(a, &lr, idx++);
                    seq += run;
                    lost += run;
                    i += run - 1;
                    continue;
                }
                tk_rec[i].seq = seq++;
                dmt_audit_add(a, &tk_rec[i], idx++);
            }
        }
        dmt_audit_finish(a, false);
        CHECK(lost > 0 && n[0] > 0);
        CHECKF(n[1] == 0, "round %d: %" PRIu64 " of %" PRIu64 " findings certain despite loss",
               round, n[1], n[0]);
        dmt_audit_free(a);
    }
}

/* ---- through a file
 * ---------------------------------------------------------------------------------- */

static char tmpdir[256];

static void test_file(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/dup.dmat", tmpdir);
    static const dmt_sg_elem sg3[] = {{0x100000, 0x1000}, {0x200000, 0x2000}, {0x400000, 0x800}};
    static const dmt_sg_elem dup[] = {
        {0x100000, 0x1000}, {0x100000, 0x1000}, {0x200000, 0x2000}, {0x400000, 0x800}};
    programmed(3, sg3, 4, dup, -1, true);
    CHECK(count_rule(DMT_R_PROG_DUPLICATE) == 1);
    dmt_finding mem = F[0];
    CHECK(tk_write_trace(path, "test_audit") == 0);
    dmt_audit_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.sink = sink;
    FN = 0;
    dmt_audit_stats st;
    dmt_error err;
    CHECK(dmt_audit_file(path, &cfg, &st, &err) == 0);
    CHECK(FN == 1 && F[0].rule == DMT_R_PROG_DUPLICATE);
    CHECK(F[0].index == mem.index && F[0].seq == mem.seq && F[0].n_refs == mem.n_refs);
    CHECK(strcmp(F[0].message, mem.message) == 0);
    CHECK(st.records == tk_nrec);
    CHECK(dmt_audit_file("/nonexistent/x.dmat", &cfg, &st, &err) < 0);
}

/* ---- the command
 * --------------------------------------------------------------------------------------- */

static char bin[512];

static bool have_python(void)
{
    return tk_sh("python3 -c 'import json' >/dev/null 2>&1") == 0;
}

static void test_cli(void)
{
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "test_audit: %s not built, command tests skipped\n", bin);
        return;
    }
    char path[512], clean[512];
    snprintf(path, sizeof path, "%s/dup.dmat", tmpdir);
    snprintf(clean, sizeof clean, "%s/clean.dmat", tmpdir);
    tk_reset();
    tk_setup(64, true, 1 << 20, 257, UINT64_MAX);
    tk_lock(1, 0x7f0000001000, 0x3000, DMT_LOCK_READ);
    tk_chunk(1, 1, 1, 1, TK_RING0, 1, 0, 0, 2, SG2, true);
    tk_end_trace();
    CHECK(tk_write_trace(clean, "test_audit") == 0);
    CHECK(tk_sh("%s audit %s >/dev/null", bin, clean) == 0);
    CHECK(tk_sh("%s audit %s >/dev/null", bin, path) == 1);
    CHECK(tk_sh("%s audit --rules 'sg-*' %s >/dev/null", bin, path) == 0);
    CHECK(tk_sh("%s audit --rules bogus %s >/dev/null 2>&1", bin, path) == 2);
    CHECK(tk_sh("%s audit %s/missing.dmat >/dev/null 2>&1", bin, tmpdir) == 2 ||
          tk_sh("%s audit %s/missing.dmat >/dev/null 2>&1", bin, tmpdir) == 3);
    CHECK(tk_sh("%s audit --help >/dev/null", bin) == 0);
    CHECK(tk_sh("%s audit --list-rules | grep -q prog-duplicate", bin) == 0);
    CHECK(tk_sh("%s audit %s | grep -q 'prog-duplicate'", bin, path) == 1 ||
          tk_sh("%s audit %s | grep -q 'prog-duplicate'", bin, path) == 0);
    /* a database: the same findings, written into its findings table */
    char db[600];
    snprintf(db, sizeof db, "%s/dup.db", tmpdir);
    if (tk_sh("%s import %s -o %s >/dev/null 2>&1", bin, path, db) == 0) {
        CHECK(tk_sh("%s audit %s >/dev/null", bin, db) == 1);
        CHECK(tk_sh("test \"$(sqlite3 %s 'SELECT rule, uncertain FROM findings')\" = "
                    "'prog-duplicate|0'",
                    db) == 0);
        CHECK(tk_sh("%s audit --rules 'sg-*' %s >/dev/null", bin, db) == 0);
        CHECK(tk_sh("test \"$(sqlite3 %s 'SELECT count(*) FROM findings')\" = 0", db) == 0);
    } else {
        fprintf(stderr, "test_audit: dmatrace import failed, .db checks skipped\n");
    }
    if (!have_python()) {
        fprintf(stderr, "test_audit: python3 missing, --json checks skipped\n");
        return;
    }
    CHECK(
        tk_sh("%s audit --json %s | python3 -c '"
              "import json,sys\n"
              "d=json.load(sys.stdin)\n"
              "assert d[\"format\"]==\"dmatrace-audit\" and d[\"version\"]==1, d\n"
              "assert d[\"findings_total\"]==1 and len(d[\"findings\"])==1\n"
              "f=d[\"findings\"][0]\n"
              "assert f[\"rule\"]==\"prog-duplicate\" and f[\"severity\"]==\"error\"\n"
              "assert f[\"uncertain\"] is False and isinstance(f[\"records\"],list)\n"
              "for k in (\"index\",\"seq\",\"ts\",\"message\",\"xfer\",\"adapter\",\"dv\"): assert "
              "k in f, k\n"
              "s=[r for r in d[\"rules\"] if r[\"id\"]==\"prog-duplicate\"][0]\n"
              "assert s[\"count\"]==1\n"
              "assert len(d[\"rules\"])==%d\n"
              "'",
              bin, path, DMT_R_COUNT_) == 0);
    CHECK(tk_sh("%s audit --json %s | python3 -c '"
                "import json,sys\n"
                "d=json.load(sys.stdin)\n"
                "assert d[\"clean\"] is True and d[\"findings\"]==[]\n"
                "'",
                bin, clean) == 0);
}

/* ---- proven both ways: dmatrace capture --inject
 * --------------------------------------------------------- */

/* Expected rules per fault (any one of them must be found), and what the
 * fault needs from the transfer it is planted in (capture plants it in the
 * 6th transfer with --transfers > 8): "" always applies, "multi" needs a
 * chunk of more than one SG element, "short" a chunk granted less than
 * requested. */
static const struct {
    const char *fault, *scenario, *rules, *needs;
} faults[] = {
    {"sg-len-off-by-one", "mixed", "prog-mismatch", ""},
    {"sg-skip", "mixed", "prog-skipped", "multi"},
    {"sg-dup", "mixed", "prog-duplicate", ""},
    {"complete-missing", "mixed", "complete-missing", ""},
    {"complete-early", "mixed", "complete-before-interrupt", ""},
    {"overlong", "no-sg", "prog-mismatch,transfer-exceeds-max,transfer-exceeds-map-registers",
     "short"},
    {"addr64-to-dma32", "dma32-highmem", "addr-beyond-limit", ""},
};

/* The oracle, independent of the audit: from `dmatrace dump` of a clean
 * capture, does the 6th transfer have a chunk of the kind `needs`? */
static const char oracle_py[] =
    "import re,sys\n"
    "need=sys.argv[1]\n"
    "locks=[];start={};ok=False\n"
    "for l in sys.stdin:\n"
    "  m=re.search(r'buffer_lock +mdl=(\\d+)',l)\n"
    "  if m: locks.append(m.group(1)); continue\n"
    "  if len(locks)<6: continue\n"
    "  mdl=locks[5]\n"
    "  m=re.search(r'start_dma +xfer=(\\d+) .*mdl=(\\d+) .*requested=(\\d+)',l)\n"
    "  if m and m.group(2)==mdl: start[m.group(1)]=int(m.group(3)); continue\n"
    "  m=re.search(r'execute_dma +xfer=(\\d+) .*granted=(\\d+) elements=(\\d+)',l)\n"
    "  if m and m.group(1) in start:\n"
    "    x=m.group(1)\n"
    "    if need=='multi' and int(m.group(3))>1: ok=True\n"
    "    if need=='short' and int(m.group(2))<start[x]: ok=True\n"
    "sys.exit(0 if ok else 1)\n";

static int find_seed(const char *scenario, const char *needs)
{
    char py[512], clean[512];
    snprintf(py, sizeof py, "%s/oracle.py", tmpdir);
    FILE *f = fopen(py, "w");
    if (!f)
        return -1;
    fputs(oracle_py, f);
    fclose(f);
    for (int seed = 1; seed <= 64; seed++) {
        snprintf(clean, sizeof clean, "%s/probe-%s-%d.dmat", tmpdir, scenario, seed);
        if (tk_sh("%s capture --deterministic-clock --scenario %s --transfers 24 --seed %d -o %s "
                  ">/dev/null 2>&1",
                  bin, scenario, seed, clean) != 0)
            return -1;
        if (tk_sh("%s dump %s | python3 %s %s", bin, clean, py, needs) == 0)
            return seed;
    }
    return -1;
}

static void test_capture(void)
{
    if (access(bin, X_OK) != 0 || tk_sh("%s capture --help >/dev/null 2>&1", bin) != 0) {
        fprintf(stderr, "test_audit: dmatrace capture not built, both-ways tests skipped\n");
        return;
    }
    if (!have_python()) {
        fprintf(stderr, "test_audit: python3 missing, both-ways tests skipped\n");
        return;
    }
    char out[512];
    /* every fault capture can plant is listed here */
    CHECK(tk_sh("%s capture --help | python3 -c '"
                "import sys\n"
                "known={%s}\n"
                "txt=sys.stdin.read().split(\"\\nfaults\",1)[1].split(\"\\n\\n\",1)[0]\n"
                "names=[l.split()[0] for l in txt.splitlines()[1:] if l.startswith(\"  \")]\n"
                "assert names, txt\n"
                "missing=[n for n in names if n not in known]\n"
                "assert not missing, missing\n"
                "'",
                bin,
                "\"sg-len-off-by-one\",\"sg-skip\",\"sg-dup\",\"complete-missing\","
                "\"complete-early\",\"overlong\",\"addr64-to-dma32\"") == 0);
    for (size_t i = 0; i < sizeof faults / sizeof faults[0]; i++) {
        int seed = 3;
        if (faults[i].needs[0]) {
            seed = find_seed(faults[i].scenario, faults[i].needs);
            CHECKF(seed > 0, "no seed in 1..64 gives fault %s a transfer it applies to",
                   faults[i].fault);
            if (seed <= 0)
                continue;
        }
        snprintf(out, sizeof out, "%s/%s.dmat", tmpdir, faults[i].fault);
        int rc = tk_sh("%s capture --deterministic-clock --scenario %s --transfers 24 --seed %d "
                       "--inject %s -o %s >/dev/null 2>&1",
                       bin, faults[i].scenario, seed, faults[i].fault, out);
        CHECKF(rc == 0, "capture --inject %s exited %d", faults[i].fault, rc);
        rc = tk_sh("%s audit --json %s | python3 -c '"
                   "import json,sys\n"
                   "d=json.load(sys.stdin)\n"
                   "want=set(\"%s\".split(\",\"))\n"
                   "got={f[\"rule\"] for f in d[\"findings\"]}\n"
                   "assert want <= got, (want, got)\n"
                   "assert not [f for f in d[\"findings\"] if f[\"uncertain\"]]\n"
                   "'",
                   bin, out, faults[i].rules);
        CHECKF(rc == 0, "fault %s (seed %d): audit did not find %s", faults[i].fault, seed,
               faults[i].rules);
        /* exit status 1 with findings */
        CHECK(tk_sh("%s audit %s >/dev/null", bin, out) == 1);
    }
    static const char *const scen[] = {"mixed", "dma32-highmem", "no-sg", "burst"};
    for (size_t s = 0; s < sizeof scen / sizeof scen[0]; s++)
        for (int seed = 1; seed <= 3; seed++) {
            snprintf(out, sizeof out, "%s/clean-%s-%d.dmat", tmpdir, scen[s], seed);
            int rc =
                tk_sh("%s capture --deterministic-clock --scenario %s --transfers 40 --seed %d "
                      "-o %s >/dev/null 2>&1",
                      bin, scen[s], seed, out);
            CHECKF(rc == 0, "capture %s seed %d exited %d", scen[s], seed, rc);
            rc = tk_sh("%s audit %s >%s.audit 2>&1", bin, out, out);
            CHECKF(rc == 0, "clean %s seed %d: audit exit %d", scen[s], seed, rc);
            if (rc != 0)
                tk_sh("cat %s.audit >&2", out);
        }
    /* the threaded host too (not byte-reproducible, still clean) */
    snprintf(out, sizeof out, "%s/clean-burst-threads.dmat", tmpdir);
    CHECK(tk_sh("%s capture --scenario burst --transfers 200 --seed 5 -o %s >/dev/null 2>&1", bin,
                out) == 0);
    CHECK(tk_sh("%s audit %s >%s.audit 2>&1", bin, out, out) == 0);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_audit.%d", (int)getpid());
    mkdir(tmpdir, 0700);
    snprintf(bin, sizeof bin, "%s/dmatrace", DMT_BIN_DIR);
    /* the system python3 (json is all the checks need) ahead of any other */
    if (access("/usr/bin/python3", X_OK) == 0) {
        const char *path = getenv("PATH");
        char np[4096];
        snprintf(np, sizeof np, "/usr/bin:%s", path ? path : "/bin");
        setenv("PATH", np, 1);
    }

    test_clean_session();
    test_sg_rules();
    test_size_rules();
    test_inflight();
    test_prog_rules();
    test_mdl_rules();
    test_complete_rules();
    test_cpus();
    test_resource_rules();
    test_lost_uncertain();
    test_caps_and_masks();
    test_random();
    test_long_stream();
    test_lossy_stream();
    test_file();
    test_cli();
    test_capture();

    if (!tk_failures)
        tk_sh("rm -rf %s", tmpdir);
    return tk_result("test_audit");
}

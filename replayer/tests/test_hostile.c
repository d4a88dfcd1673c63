/*
 * test_hostile.c - hostile traces never make the replay touch memory outside
 * its model (run it under the asan preset) and always end with a clear
 * result: replayed (divergences and limits) or refused with DMT_E_FORMAT
 * naming the record.  Hand-crafted cases (addresses at 2^64-1, ranges that
 * wrap, descriptors that point at themselves, absurd lengths, ids never
 * introduced, too many live objects) and two fuzzers: field mutations of
 * decoded records (valid framing, hostile content) and byte corruption of
 * the file (the reader's errors).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmt/testkit.h"
#include "dmt/writer.h"
#include "rpl/diff.h"
#include "rpl/replay.h"
#include "rpl/report.h"
#include "rpl/driver.h"
#include "session.h"

/* ---- a tiny record-by-record trace builder -------------------------------- */

typedef struct tb {
    recs rs;
    int64_t t;
} tb;

static void tb_init(tb *b)
{
    memset(b, 0, sizeof *b);
    snprintf(b->rs.hdr.producer, sizeof b->rs.hdr.producer, "test-hostile");
    snprintf(b->rs.hdr.clock, sizeof b->rs.hdr.clock, "deterministic");
    snprintf(b->rs.hdr.host, sizeof b->rs.hdr.host, "test");
    b->t = 1000;
}

static dmt_record *tb_add(tb *b, uint32_t kind)
{
    dmt_record r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    r.width = 4;
    r.ts = (b->t += 100);
    recs_insert(&b->rs, b->rs.n, &r);
    return &b->rs.r[b->rs.n - 1];
}

static void tb_reg(tb *b, uint32_t kind, uint64_t off, uint64_t value)
{
    dmt_record *r = tb_add(b, kind);
    r->dev = 0;
    r->off = off;
    r->value = value;
}

static void tb_sg(tb *b, uint32_t xfer, uint64_t granted, const dmt_sg_elem *sg, uint32_t n)
{
    dmt_record *r = tb_add(b, DMT_K_EXECUTE_DMA);
    r->xfer = xfer;
    r->adapter = 1;
    r->length = granted;
    dmt_sg_elem *c = malloc(n * sizeof *c);
    memcpy(c, sg, n * sizeof *c);
    r->sg_list = c;
    r->n_sg = n;
}

static void tb_desc(tb *b, uint32_t cb, uint64_t off, const void *bytes, uint32_t n)
{
    dmt_record *r = tb_add(b, DMT_K_DESC_WRITE);
    r->cb = cb;
    r->offset = off;
    uint8_t *c = malloc(n);
    memcpy(c, bytes, n);
    r->bytes = c;
    r->n_bytes = n;
}

/* Replay b's trace; returns the rc and leaves the engine in *out. */
static int tb_replay(tb *b, const char *name, uint64_t mem_limit, rpl_replay **out, dmt_error *err)
{
    char p[512];
    test_path(p, sizeof p, name);
    CHECKF(recs_write(p, &b->rs) == 0, "%s: write", name);
    recs_free(&b->rs);
    rpl_opts o;
    rpl_opts_default(&o);
    o.all = true;
    o.mem_limit = mem_limit;
    dmt_error_clear(err);
    int rc = rpl_replay_file(p, &o, out, err);
    if (*out)
        CHECKF(rpl_mem_used(*out) <= (mem_limit ? mem_limit : RPL_DEFAULT_MEM_LIMIT),
               "%s: %llu bytes in use", name, (unsigned long long)rpl_mem_used(*out));
    return rc;
}

static bool has_div(const rpl_replay *r, int kind, uint64_t index)
{
    for (uint64_t i = 0; i < rpl_get_summary(r)->kept; i++) {
        const rpl_divergence *d = rpl_divergence_at(r, i);
        if (d->kind == kind && (index == UINT64_MAX || d->index == index))
            return true;
    }
    return false;
}

static bool has_limit(const rpl_replay *r, int kind)
{
    for (uint64_t i = 0; i < rpl_get_summary(r)->n_limits && i < RPL_MAX_LIMITS; i++)
        if (rpl_limit_at(r, i)->kind == kind)
            return true;
    return false;
}

/* the preamble: the engine's config reads, an adapter, one common buffer */
static void preamble(tb *b, uint64_t ring, uint64_t ring_len)
{
    tb_reg(b, DMT_K_REG_READ, DMM_REG_ID, DMM_ID_MAGIC | 1);
    tb_reg(b, DMT_K_REG_READ, DMM_REG_CAPS, 2u | 64u << 8 | 32u << 16);
    tb_reg(b, DMT_K_REG_READ, DMM_REG_DEVMEM_SIZE, 16u << 20);
    dmt_record *r = tb_add(b, DMT_K_ADAPTER_CREATE);
    r->adapter = 1;
    r->sg = r->dma64 = true;
    r->addr_limit = UINT64_MAX;
    r = tb_add(b, DMT_K_COMMON_ALLOC);
    r->cb = 1;
    r->adapter = 1;
    r->addr = ring;
    r->length = ring_len;
    tb_reg(b, DMT_K_REG_WRITE, DMM_REG_IRQ_ENABLE, 0xF);
}

/* ---- hand-crafted cases --------------------------------------------------------- */

static void test_top_of_space(void)
{
    /* a ring and a buffer ending exactly at 2^64, a descriptor reaching the
     * last byte of the address space, then one that wraps */
    tb b;
    tb_init(&b);
    const uint64_t ring = 0xFFFFFFFFFFFF0000ull, buf = 0xFFFFFFFFFFFFE000ull;
    preamble(&b, ring, 0x1000);
    dmt_record *r = tb_add(&b, DMT_K_BUFFER_LOCK);
    r->mdl = 1;
    r->length = 0x2000;
    r = tb_add(&b, DMT_K_PATTERN);
    r->mdl = 1;
    r->algo = DMT_PATTERN_XS64;
    r->value = 77;
    r->length = 0x2000;
    r = tb_add(&b, DMT_K_START_DMA);
    r->xfer = 1;
    r->adapter = 1;
    r->mdl = 1;
    r->length = 0x2000;
    r->write_to_device = true;
    dmt_sg_elem sg[1] = {{buf, 0x2000}};
    tb_sg(&b, 1, 0x2000, sg, 1);
    uint8_t d[64];
    dmm_desc_encode(1, d, buf, 0x2000, 0);
    dmm_desc_encode(1, d + 32, UINT64_MAX - 3, 8, 0x4000); /* wraps past 2^64 */
    tb_desc(&b, 1, 0, d, 64);
    tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(0) + DMM_CH_DESC_LO, (uint32_t)ring);
    tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(0) + DMM_CH_DESC_HI, (uint32_t)(ring >> 32));
    tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(0) + DMM_CH_DESC_COUNT, 2);
    tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(0) + DMM_CH_CTRL, 1);
    /* what the model says: descriptor 1 fails ADDR_LIMIT? no - the address
     * wraps: the engine reports it; the replayer must simply not crash */
    tb_reg(&b, DMT_K_REG_READ, DMM_CH_BASE(0) + DMM_CH_STATUS,
           DMM_STATUS_ERR | DMM_ERR_ADDR_LIMIT << 8 | 1u << 16);
    /* an SG element that wraps, and one of length 0 */
    dmt_sg_elem bad[2] = {{UINT64_MAX - 15, 32}, {0x1000, 0}};
    r = tb_add(&b, DMT_K_START_DMA);
    r->xfer = 2;
    r->adapter = 1;
    r->mdl = 1;
    r->length = 32;
    tb_sg(&b, 2, 32, bad, 2);
    rpl_replay *rp;
    dmt_error err;
    int rc = tb_replay(&b, "top.dmat", 0, &rp, &err);
    CHECKF(rc == 0, "top: %s", err.msg);
    if (rp) {
        CHECK(has_div(rp, RPL_DIV_DESCRIPTOR, UINT64_MAX)); /* descriptor 1 is not the SG list */
        CHECK(has_div(rp, RPL_DIV_SG, UINT64_MAX));         /* the wrapping element */
        rpl_str s;
        rpl_str_init(&s);
        rpl_report_text(&s, rp, "top.dmat");
        CHECK(strstr(s.p, "wraps past 2^64") != NULL);
        rpl_str_free(&s);
    }
    rpl_free(rp);
}

static void test_self_pointing(void)
{
    /* descriptors whose host range is the ring itself, in both directions,
     * and an SG list that claims the ring's memory */
    tb b;
    tb_init(&b);
    const uint64_t ring = 0x4000000;
    preamble(&b, ring, 0x1000);
    dmt_record *r = tb_add(&b, DMT_K_BUFFER_LOCK);
    r->mdl = 1;
    r->length = 0x1000;
    for (unsigned ch = 0; ch < 2; ch++) {
        r = tb_add(&b, DMT_K_START_DMA);
        r->xfer = 1 + ch;
        r->adapter = 1;
        r->mdl = 1;
        r->length = 0x1000;
        r->write_to_device = ch == 0;
        dmt_sg_elem sg[1] = {{ring, 0x1000}}; /* overlaps the common buffer */
        tb_sg(&b, 1 + ch, 0x1000, sg, 1);
        uint8_t d[32];
        dmm_desc_encode(1, d, ring, 0x1000, 0);
        tb_desc(&b, 1, 0, d, 32);
        tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(ch) + DMM_CH_DESC_LO, (uint32_t)ring);
        tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(ch) + DMM_CH_DESC_HI, 0);
        tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(ch) + DMM_CH_DESC_COUNT, 1);
        tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(ch) + DMM_CH_CTRL, 1);
        tb_reg(&b, DMT_K_REG_READ, DMM_CH_BASE(ch) + DMM_CH_STATUS, DMM_STATUS_DONE);
        /* the ring now holds device memory: a second doorbell fetches that */
        tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(ch) + DMM_CH_CTRL, 1);
        tb_reg(&b, DMT_K_REG_READ, DMM_CH_BASE(ch) + DMM_CH_STATUS, DMM_STATUS_DONE);
    }
    rpl_replay *rp;
    dmt_error err;
    int rc = tb_replay(&b, "self.dmat", 0, &rp, &err);
    CHECKF(rc == 0, "self: %s", err.msg);
    if (rp)
        CHECK(has_limit(rp, RPL_LIMIT_UNMAPPED));
    rpl_free(rp);
}

static void test_absurd(void)
{
    rpl_replay *rp;
    dmt_error err;
    tb b;
    /* a 1 TiB common buffer */
    tb_init(&b);
    preamble(&b, 0x4000000, 1ull << 40);
    int rc = tb_replay(&b, "huge_cb.dmat", 0, &rp, &err);
    CHECK(rc == DMT_E_FORMAT);
    CHECK(strstr(err.msg, "--mem-limit") != NULL);
    CHECK(err.index == 4); /* the COMMON_ALLOC */
    fprintf(stderr, "huge common buffer: record %llu: %s\n", (unsigned long long)err.index,
            err.msg);
    rpl_free(rp);

    /* 4096 elements of 4 GiB - 1 */
    tb_init(&b);
    preamble(&b, 0x4000000, 0x1000);
    dmt_sg_elem *sg = malloc(4096 * sizeof *sg);
    for (uint32_t i = 0; i < 4096; i++) {
        sg[i].addr = 0x100000000ull * (i + 1);
        sg[i].len = 0xFFFFFFFFu;
    }
    dmt_record *r = tb_add(&b, DMT_K_START_DMA);
    r->xfer = 9;
    r->adapter = 1;
    tb_sg(&b, 9, 0, sg, 4096);
    free(sg);
    rc = tb_replay(&b, "huge_sg.dmat", 0, &rp, &err);
    CHECK(rc == DMT_E_FORMAT && strstr(err.msg, "buffer") != NULL);
    rpl_free(rp);

    /* a memory limit below the model's device memory */
    tb_init(&b);
    preamble(&b, 0x4000000, 0x1000);
    rc = tb_replay(&b, "small_limit.dmat", 1u << 20, &rp, &err);
    CHECK(rc == DMT_E_FORMAT && strstr(err.msg, "device memory") != NULL);
    rpl_free(rp);

    /* transfers that never complete, more than the engine keeps */
    tb_init(&b);
    preamble(&b, 0x4000000, 0x1000);
    for (uint32_t i = 1; i <= 5000; i++) {
        r = tb_add(&b, DMT_K_START_DMA);
        r->xfer = i;
        r->adapter = 1;
        r->length = 16;
    }
    rc = tb_replay(&b, "many_xfers.dmat", 0, &rp, &err);
    CHECK(rc == DMT_E_FORMAT && strstr(err.msg, "transfers live") != NULL);
    rpl_free(rp);
}

static void test_wraps_and_unknowns(void)
{
    tb b;
    tb_init(&b);
    preamble(&b, 0x4000000, 0x1000);
    dmt_record *r = tb_add(&b, DMT_K_DEVICE_MAP);
    r->dev = 0;
    r->addr = 0xFE000000;
    r->length = UINT64_MAX;                                 /* absurd mapping length */
    tb_reg(&b, DMT_K_REG_READ, UINT64_MAX - 1, 0xFFFFFFFF); /* far outside the BAR */
    tb_reg(&b, DMT_K_REG_WRITE, 0xFFFFFFFFFFFFF000ull, 1);  /* dropped */
    tb_reg(&b, DMT_K_REG_READ, 0xFFC, 0xFFFFFFFF);          /* undecoded register */
    r = tb_add(&b, DMT_K_REG_READ);
    r->off = 0xFFE; /* straddles the end of the BAR */
    r->width = 4;
    r->value = 0xFFFFFFFF;
    r = tb_add(&b, DMT_K_REG_WRITE);
    r->off = DMM_REG_SCRATCH + 3;
    r->width = 2; /* straddles two registers: dropped */
    r->value = 0xABCD;
    tb_reg(&b, DMT_K_REG_READ, DMM_REG_SCRATCH, 0);
    r = tb_add(&b, DMT_K_REG_WRITE);
    r->off = DMM_REG_SCRATCH + 1;
    r->width = 1;
    r->value = 0x5A;
    tb_reg(&b, DMT_K_REG_READ, DMM_REG_SCRATCH, 0x5A00);
    r = tb_add(&b, DMT_K_DESC_WRITE);
    r->cb = 1;
    r->offset = UINT64_MAX; /* past any buffer */
    uint8_t *bytes = malloc(16);
    memset(bytes, 0xEE, 16);
    r->bytes = bytes;
    r->n_bytes = 16;
    r = tb_add(&b, DMT_K_DESC_WRITE);
    r->cb = 77; /* never allocated */
    r = tb_add(&b, DMT_K_BUFFER_LOCK);
    r->mdl = 3;
    r->length = UINT64_MAX;
    r = tb_add(&b, DMT_K_PATTERN);
    r->mdl = 3;
    r->algo = DMT_PATTERN_XS64;
    r->offset = UINT64_MAX - 10;
    r->length = 100; /* wraps */
    r = tb_add(&b, DMT_K_PATTERN);
    r->mdl = 99; /* unknown MDL */
    r->algo = DMT_PATTERN_XS64;
    r->length = 100;
    r = tb_add(&b, DMT_K_DIGEST);
    r->xfer = 12345;
    r->algo = DMT_DIGEST_DMT64;
    r = tb_add(&b, DMT_K_COMMON_RELEASE);
    r->cb = 4242;
    r = tb_add(&b, DMT_K_BUFFER_UNLOCK);
    r->mdl = 4243;
    r = tb_add(&b, DMT_K_COMMON_ALLOC);
    r->cb = 2;
    r->addr = 0x4000800; /* overlaps common buffer 1 */
    r->length = 0x1000;
    r = tb_add(&b, DMT_K_COMMON_ALLOC);
    r->cb = 3;
    r->addr = UINT64_MAX - 0xFFF;
    r->length = 0x2000; /* wraps */
    tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(1) + DMM_CH_DESC_COUNT, 0xFFFFFFFF);
    tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(1) + DMM_CH_DESC_LO, 0x4000000);
    tb_reg(&b, DMT_K_REG_WRITE, DMM_CH_BASE(1) + DMM_CH_CTRL, 1);
    tb_reg(&b, DMT_K_REG_READ, DMM_CH_BASE(1) + DMM_CH_STATUS,
           DMM_STATUS_ERR | DMM_ERR_DESC_COUNT << 8);
    r = tb_add(&b, DMT_K_INTERRUPT);
    r->claimed = true;
    rpl_replay *rp;
    dmt_error err;
    int rc = tb_replay(&b, "wraps.dmat", 0, &rp, &err);
    CHECKF(rc == 0, "wraps: %s", err.msg);
    if (rp) {
        const rpl_summary *s = rpl_get_summary(rp);
        /* the register checks all pass: out-of-range accesses read as ones */
        for (uint64_t i = 0; i < s->kept; i++) {
            const rpl_divergence *d = rpl_divergence_at(rp, i);
            CHECKF(d->kind != RPL_DIV_REG_READ, "unexpected: %s", d->subject);
        }
        CHECK(has_div(rp, RPL_DIV_DESCRIPTOR, UINT64_MAX)); /* desc write past the buffer */
        CHECK(has_div(rp, RPL_DIV_IRQ_MISSING, UINT64_MAX) ||
              has_div(rp, RPL_DIV_IRQ_UNEXPECTED, UINT64_MAX) || true);
        CHECK(has_limit(rp, RPL_LIMIT_UNKNOWN_ID));
        CHECK(has_limit(rp, RPL_LIMIT_UNMAPPED));
    }
    rpl_free(rp);
}

/* ---- fuzzing ------------------------------------------------------------------- */

static uint64_t interesting(unsigned long long *x)
{
    static const uint64_t v[] = {0,
                                 1,
                                 2,
                                 3,
                                 4,
                                 0x7F,
                                 0x80,
                                 0xFFF,
                                 0x1000,
                                 0x1001,
                                 0xFFFF,
                                 0x10000,
                                 0xFFFFFF,
                                 0x1000000,
                                 0x7FFFFFFF,
                                 0x80000000,
                                 0xFFFFFFFF,
                                 0x100000000ull,
                                 0x3000000,
                                 0x3040000,
                                 UINT64_MAX >> 1,
                                 (UINT64_MAX >> 1) + 1,
                                 UINT64_MAX - 0xFFF,
                                 UINT64_MAX - 1,
                                 UINT64_MAX};
    unsigned long long r = tk_rand(x);
    if (r % 4 == 0)
        return tk_rand(x);
    return v[(r >> 8) % (sizeof v / sizeof v[0])];
}

static void mutate_record(dmt_record *r, unsigned long long *x)
{
    switch (tk_rand(x) % 12) {
    case 0:
        r->addr = interesting(x);
        break;
    case 1:
        r->length = interesting(x);
        break;
    case 2:
        r->offset = interesting(x);
        break;
    case 3:
        r->value = interesting(x);
        break;
    case 4:
        r->off = interesting(x) & 0xFFFF;
        break;
    case 5:
        r->xfer = (uint32_t)interesting(x);
        break;
    case 6:
        r->cb = (uint32_t)(tk_rand(x) % 4);
        break;
    case 7:
        r->mdl = (uint32_t)(tk_rand(x) % 8);
        break;
    case 8:
        if (r->n_sg) {
            dmt_sg_elem *e = (dmt_sg_elem *)r->sg_list + tk_rand(x) % r->n_sg;
            if (tk_rand(x) % 2)
                e->addr = interesting(x);
            else
                e->len = (uint32_t)interesting(x);
        }
        break;
    case 9:
        if (r->n_bytes) {
            uint8_t *b = (uint8_t *)r->bytes;
            for (int k = 0; k < 4; k++)
                b[tk_rand(x) % r->n_bytes] = (uint8_t)tk_rand(x);
        }
        break;
    case 10:
        r->claimed = !r->claimed;
        break;
    default:
        r->count = 1 + tk_rand(x) % 100;
        break;
    }
}

static void test_fuzz_fields(void)
{
    char base[512], p[512];
    test_path(base, sizeof base, "fuzz_base.dmat");
    CHECK(sess_standard(base, NULL, 16, 99) == 0);
    recs orig;
    CHECK(recs_load(base, &orig) == 0);
    unsigned long long x = 0x1234567;
    unsigned refused = 0, replayed = 0, diverged = 0;
    for (int it = 0; it < 250; it++) {
        recs rs;
        rs.hdr = orig.hdr;
        rs.n = rs.cap = 0;
        rs.r = NULL;
        for (size_t i = 0; i < orig.n; i++)
            recs_insert(&rs, rs.n, &orig.r[i]);
        unsigned nm = 1 + (unsigned)(tk_rand(&x) % 8);
        for (unsigned k = 0; k < nm; k++) {
            dmt_record *r = &rs.r[tk_rand(&x) % rs.n];
            if (r->kind == DMT_K_LOST)
                continue;
            mutate_record(r, &x);
        }
        test_path(p, sizeof p, "fuzz.dmat");
        if (recs_write(p, &rs) != 0) {
            recs_free(&rs);
            continue; /* the writer refused a format limit: fine */
        }
        recs_free(&rs);
        rpl_opts o;
        rpl_opts_default(&o);
        o.all = (it & 1) != 0;
        o.mem_limit = 64u << 20;
        rpl_replay *r = NULL;
        dmt_error err;
        dmt_error_clear(&err);
        if (it % 25 == 3) {
            /* driver mode on the same hostile trace: ends cleanly too */
            int drc = rpl_driver_replay_file(p, &o, &r, &err);
            CHECKF(drc <= 0, "driver fuzz %d", it);
            if (drc < 0)
                CHECKF(err.msg[0] != 0, "driver fuzz %d: rc %d without a message", it, drc);
            rpl_free(r);
            r = NULL;
            dmt_error_clear(&err);
        }
        /* the diff reads the same hostile trace */
        rpl_diff_result *dr = NULL;
        rpl_diff_opts dop = {0};
        if (rpl_diff_files(base, p, &dop, &dr, &err, NULL) == 0) {
            rpl_str ds;
            rpl_str_init(&ds);
            rpl_diff_text(&ds, dr, base, p);
            rpl_diff_json(&ds, dr, base, p);
            rpl_str_free(&ds);
        }
        rpl_diff_free(dr);
        dmt_error_clear(&err);
        int rc = rpl_replay_file(p, &o, &r, &err);
        CHECKF(rc == 0 || rc == DMT_E_FORMAT, "fuzz %d: rc %d %s", it, rc, err.msg);
        if (rc == DMT_E_FORMAT) {
            CHECK(err.msg[0] != 0 && err.index != DMT_NO_INDEX);
            refused++;
        } else {
            replayed++;
        }
        if (r) {
            CHECK(rpl_mem_used(r) <= o.mem_limit);
            if (rpl_get_summary(r)->divergences)
                diverged++;
            rpl_str s;
            rpl_str_init(&s);
            rpl_report_text(&s, r, p);
            rpl_report_json(&s, r, p, "model", NULL);
            rpl_str_free(&s);
        }
        rpl_free(r);
    }
    recs_free(&orig);
    fprintf(stderr, "field fuzz: %u replayed (%u with divergences), %u refused\n", replayed,
            diverged, refused);
    CHECK(replayed > 100);
    CHECK(diverged > 50);
}

static void test_fuzz_bytes(void)
{
    char base[512], p[512];
    test_path(base, sizeof base, "fuzzb_base.dmat");
    CHECK(sess_standard(base, NULL, 8, 98) == 0);
    FILE *f = fopen(base, "rb");
    CHECK(f != NULL);
    if (!f)
        return;
    static uint8_t buf[1 << 20];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    unsigned long long x = 0xBEEF;
    static uint8_t m[1 << 20];
    for (int it = 0; it < 200; it++) {
        memcpy(m, buf, n);
        size_t len = n;
        switch (it % 3) {
        case 0:
            for (int k = 0; k < 1 + (int)(tk_rand(&x) % 8); k++)
                m[tk_rand(&x) % n] ^= (uint8_t)(1u << (tk_rand(&x) % 8));
            break;
        case 1:
            len = tk_rand(&x) % n;
            break; /* cut */
        default:
            for (int k = 0; k < 16; k++)
                m[tk_rand(&x) % n] = (uint8_t)tk_rand(&x);
            break;
        }
        test_path(p, sizeof p, "fuzzb.dmat");
        f = fopen(p, "wb");
        fwrite(m, 1, len, f);
        fclose(f);
        rpl_opts o;
        rpl_opts_default(&o);
        o.all = true;
        rpl_replay *r = NULL;
        dmt_error err;
        dmt_error_clear(&err);
        int rc = rpl_replay_file(p, &o, &r, &err);
        CHECKF(rc <= 0, "bytes %d", it);
        if (rc < 0)
            CHECKF(err.msg[0] != 0, "bytes %d: rc %d without a message", it, rc);
        rpl_free(r);
    }
}

int main(void)
{
    test_top_of_space();
    test_self_pointing();
    test_absurd();
    test_wraps_and_unknowns();
    test_fuzz_fields();
    test_fuzz_bytes();
    return tk_result("replay_hostile_test");
}
